# Batched runs. The tests narrow it to their own namespace and set batch, batchWindow, concurrency and
# timeout themselves. Each object's entry of the answer follows its label engine-test/answer:
#   (none)    changed: the object with the label batched=yes, or unchanged once it has it
#   unchanged, error (message "told to fail"), missing (no entry), twice (two entries),
#   unknown   (an entry for <name>-unknown instead of its own), bogus (result "maybe"),
#   elsewhere (changed, with an object named <name>-unknown),
#   conflict  touches the file named by the annotation engine-test/marker, sleeps a second, then changed
# and the whole run follows the label engine-test/run of any of its objects:
#   exit (exit 3), hang (sleeps past any time-out), garbage (prints what is not a list),
#   huge (a valid answer followed by more than the output cap), sleep (sleeps 300 ms before answering),
#   slow (touches the file named by the annotation engine-test/started, sleeps 2 s, touches the one named
#   by engine-test/done, then answers), gate (touches the file named by engine-test/started, waits until
#   the one named by engine-test/release exists, then answers).
# When the objects carry the annotation engine-test/record, each run writes <that dir>/<uuid>.json:
# {start, end, names}, times in nanoseconds (end is missing for a run that hangs or exits).
# Its per-object reconcile must never run; finalize (for a test that sets a finalizer) exits 0.
def main [] { help main }

def "main config" [] {
  { name: "batch", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/batch": "yes" }, batch: 5, batchWindow: 100, requeue_after_change: 3600, requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] { print -e "per-object reconcile must not run with batch set"; exit 1 }

def "main finalize" [] { exit 0 }

def label [o: record, key: string] {
  $o.metadata | get --optional labels | default {} | get --optional $key
}

def annotation [o: record, key: string] {
  $o.metadata | get --optional annotations | default {} | get --optional $key
}

def "main reconcile-batch" [] {
  let objs = $in | from yaml
  let start = date now | into int
  let dir = $objs | each {|o| annotation $o "engine-test/record" } | compact | get --optional 0
  let record = if $dir == null { null } else { $dir | path join $"(random uuid).json" }
  let names = $objs | each {|o| $o.metadata.name }
  if $record != null { { start: $start, names: $names } | to json | save $record }

  let runs = $objs | each {|o| label $o "engine-test/run" } | compact
  if "exit" in $runs { print -e "failing on purpose"; exit 3 }
  if "hang" in $runs { ^sleep 60; exit 0 }
  if "garbage" in $runs { print "this: [is not a list"; exit 0 }
  if "sleep" in $runs { sleep 300ms }
  if "slow" in $runs {
    let o = $objs | where {|o| (label $o "engine-test/run") == "slow" } | first
    touch (annotation $o "engine-test/started")
    sleep 2sec
    touch (annotation $o "engine-test/done")
  }
  if "gate" in $runs {
    let o = $objs | where {|o| (label $o "engine-test/run") == "gate" } | first
    touch (annotation $o "engine-test/started")
    let release = annotation $o "engine-test/release"
    while not ($release | path exists) { sleep 50ms }
  }

  let answer = $objs | each {|o|
    let id = { namespace: $o.metadata.namespace, name: $o.metadata.name }
    let done = (label $o "batched") == "yes"
    match (label $o "engine-test/answer") {
      "unchanged" => [($id | insert result "unchanged")]
      "error" => [($id | insert result "error" | insert message "told to fail")]
      "missing" => []
      "twice" => [($id | insert result "unchanged") ($id | insert result "unchanged")]
      "unknown" => [($id | update name $"($o.metadata.name)-unknown" | insert result "changed" | insert object ($o | upsert metadata.labels.batched "yes" | update metadata.name $"($o.metadata.name)-unknown"))]
      "bogus" => [($id | insert result "maybe")]
      "elsewhere" => [($id | insert result "changed" | insert object ($o | upsert metadata.labels.batched "yes" | update metadata.name $"($o.metadata.name)-unknown"))]
      "conflict" => {
        if $done { [($id | insert result "unchanged")] } else {
          touch (annotation $o "engine-test/marker")
          sleep 1sec
          [($id | insert result "changed" | insert object ($o | upsert metadata.labels.batched "yes"))]
        }
      }
      _ => {
        if $done { [($id | insert result "unchanged")] } else {
          [($id | insert result "changed" | insert object ($o | upsert metadata.labels.batched "yes"))]
        }
      }
    }
  } | flatten

  if $record != null { { start: $start, end: (date now | into int), names: $names } | to json | save --force $record }
  print ($answer | to yaml)
  if "huge" in $runs { print $"# ('' | fill --character x --width 1100000)" }
  exit 0
}
