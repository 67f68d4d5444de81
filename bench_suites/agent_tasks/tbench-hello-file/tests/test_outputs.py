import os
import stat
from pathlib import Path

HELLO = Path("/app/hello.txt")


def test_hello_file_exists():
    assert HELLO.is_file()


def test_hello_file_content():
    assert HELLO.read_text().strip() == "Hello, world!"


def test_hello_file_world_readable():
    assert os.stat(HELLO).st_mode & stat.S_IROTH
