# A supported field selector (metadata.name) with a label selector: marks the objects it sees.
def main [] { help main }

def "main config" [] {
  { name: "fieldsel", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/fieldsel": "yes" }, fieldSelectors: { "metadata.name": "fieldsel-picked" }, requeue_after_change: 3600, requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] {
  let obj = $in | from yaml
  if ($obj | get --optional data.seen) == "yes" { exit 0 }
  print ($obj | upsert data.seen "yes" | to yaml)
  exit 2
}
