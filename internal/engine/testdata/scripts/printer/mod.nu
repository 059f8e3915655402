# Prints a line about each object and changes nothing: exit 0's stdout is logged too.
def main [] { help main }

def "main config" [] {
  { name: "printer", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/printer": "yes" }, requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] {
  let obj = $in | from yaml
  print $"printer saw ($obj.metadata.name) as ($env.NUOP_OBJECT_KIND)"
  exit 0
}
