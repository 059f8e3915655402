# Writes back data.script=done a second after reading the object, so a test can change the object while
# it sleeps. It touches the file named by the annotation engine-test/marker once it has read its input.
def main [] { help main }

def "main config" [] {
  { name: "conflict", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/conflict": "yes" }, requeue_after_change: 3600, requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] {
  let obj = $in | from yaml
  if ($obj | get --optional data.script) == "done" { exit 0 }
  let marker = $obj.metadata | get --optional annotations | default {} | get --optional "engine-test/marker"
  if $marker != null { touch $marker }
  sleep 1sec
  print ($obj | upsert data.script "done" | to yaml)
  exit 2
}
