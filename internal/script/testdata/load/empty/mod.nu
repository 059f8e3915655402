def main [] {}

# Prints nothing: the value of `ignore` is nothing.
def "main config" [] { {name: empty} | ignore }
