# Batched runs on Secrets: prints every Secret it reads, encoded and decoded, on stderr; answers error
# (with the decoded token as its message) for a Secret labelled engine-test/answer=error, and otherwise
# writes it back with the label written=yes (unchanged once it has it).
def main [] { help main }

def "main config" [] {
  { name: "batchsecret", version: "v1", kind: "Secret", labelSelectors: { "engine-test/batchsecret": "yes" }, batch: 10, requeue_after_change: 3600, requeue_after_noop: 3600 } | to yaml
}

def "main reconcile-batch" [] {
  let raw = $in
  let objs = $raw | from yaml
  print -e $raw
  let answer = $objs | each {|o|
    let plain = $o.data.token | decode base64 | decode
    print -e $"token ($plain)"
    let labels = $o.metadata | get --optional labels | default {}
    let id = { namespace: $o.metadata.namespace, name: $o.metadata.name }
    if ($labels | get --optional "engine-test/answer") == "error" {
      $id | insert result "error" | insert message $"token ($plain)"
    } else if ($labels | get --optional written) == "yes" {
      $id | insert result "unchanged"
    } else {
      $id | insert result "changed" | insert object ($o | upsert metadata.labels.written "yes")
    }
  }
  print ($answer | to yaml)
  exit 0
}
