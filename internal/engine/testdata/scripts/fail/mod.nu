# Always fails with exit 42.
def main [] { help main }

def "main config" [] {
  { name: "fail", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/fail": "yes" } } | to yaml
}

def "main reconcile" [] {
  print -e "something went wrong"
  exit 42
}
