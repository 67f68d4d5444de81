"""A tiny greeting module."""


def greet(name: str) -> str:
    return f"Helo, {name}!"


if __name__ == "__main__":
    print(greet("world"))
