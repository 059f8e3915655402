# A field selector the API server does not support for ConfigMaps: the engine must refuse it at start.
def main [] { help main }

def "main config" [] {
  { name: "fieldsel-bad", version: "v1", kind: "ConfigMap", fieldSelectors: { "data.foo": "x" } } | to yaml
}

def "main reconcile" [] { exit 0 }
