# Prints the object with the label touched=yes, then a YAML comment longer than the output cap: the
# kept part still parses as the object, but the engine cannot know that nothing was cut from it.
def main [] { help main }

def "main config" [] {
  { name: "oversize", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/oversize": "yes" }, requeue_after_change: 3600, requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] {
  let obj = $in | from yaml
  print ($obj | upsert metadata.labels.touched "yes" | to yaml)
  print ("# " + ('' | fill --width 1200000 --character 'x'))
  exit 2
}
