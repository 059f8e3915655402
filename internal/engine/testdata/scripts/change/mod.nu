# Enforces the label touched=yes by printing the object (write-back), and counts its runs in an
# annotation-free way: the engine must not run it again for its own write.
def main [] { help main }

def "main config" [] {
  { name: "change", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/change": "yes" }, requeue_after_change: 3600, requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] {
  let obj = $in | from yaml
  let labels = $obj.metadata | get --optional labels | default {}
  if ($labels | get --optional touched) == "yes" { exit 0 }
  print ($obj | upsert metadata.labels.touched "yes" | upsert data.written "by-script" | to yaml)
  exit 2
}
