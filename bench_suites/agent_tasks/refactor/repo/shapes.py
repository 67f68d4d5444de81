"""Areas and volumes."""


def rectangle_area(width, height):
    for value in (width, height):
        if value <= 0:
            raise ValueError("dimensions must be positive")
    return width * height


def box_volume(width, height, depth):
    for value in (width, height, depth):
        if value <= 0:
            raise ValueError("dimensions must be positive")
    return width * height * depth
