# Batched runs: labels every object batched=yes through the write-back of reconcile-batch; an object
# labelled fail=yes gets an error entry. Its per-object reconcile must never run.
def main [] { help main }

def "main config" [] {
  { name: "batch", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/batch": "yes" }, batch: 5, batchWindow: 1000, requeue_after_change: 3600, requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] { print -e "per-object reconcile must not run with batch set"; exit 1 }

def "main reconcile-batch" [] {
  let objs = $in | from yaml
  let answer = $objs | each {|o|
    let labels = $o.metadata | get --optional labels | default {}
    let id = { namespace: $o.metadata.namespace, name: $o.metadata.name }
    if ($labels | get --optional fail) == "yes" {
      $id | insert result "error" | insert message "told to fail"
    } else if ($labels | get --optional batched) == "yes" {
      $id | insert result "unchanged"
    } else {
      $id | insert result "changed" | insert object ($o | upsert metadata.labels.batched "yes")
    }
  }
  print ($answer | to yaml)
  exit 0
}
