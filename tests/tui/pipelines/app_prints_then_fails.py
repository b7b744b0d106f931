"""A file that prints a line, then fails in build() before any tree runs."""


async def build():
    print("about to fail")
    raise RuntimeError("the input folder is missing")
