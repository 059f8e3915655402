# A batched script for the tests of `manager script test`. Each ConfigMap's entry has the result its label
# `answer` names (unchanged when it has none), or no entry when that is `missing`; the answer always ends
# with an entry for x/stranger, which is in no batch. A ConfigMap labelled `exit` makes the run exit 3.
def main [] { help main }

def "main config" [] {
  { name: "answers", version: "v1", kind: "ConfigMap", batch: 2 } | to yaml
}

def "main reconcile-batch" [] {
  let objs = $in | from yaml
  print -e $"got ($objs | length) objects"
  if ($objs | any {|o| ($o.metadata | get --optional labels.exit) != null }) { exit 3 }
  let entries = $objs
    | each {|o| { namespace: $o.metadata.namespace, name: $o.metadata.name, result: ($o.metadata | get --optional labels.answer | default "unchanged") } }
    | where result != "missing"
  print ($entries | append { namespace: "x", name: "stranger", result: "unchanged" } | to yaml)
  exit 0
}
