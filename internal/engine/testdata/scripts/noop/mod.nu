# Reconciles ConfigMaps labelled engine-test/noop and changes nothing.
def main [] { help main }

def "main config" [] {
  { name: "noop", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/noop": "yes" }, requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] {
  let obj = $in | from yaml
  print $"seen ($obj.metadata.name) as ($env.NUOP_OBJECT_KIND)"
  exit 0
}
