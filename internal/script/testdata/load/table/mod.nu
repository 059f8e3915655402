def main [] {}

# Forgot `| to yaml`: nu renders the record as a table.
def "main config" [] { {name: table, version: v1, kind: ConfigMap} }
