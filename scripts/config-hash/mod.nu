# config-hash: stamps each selected ConfigMap with a digest of its content, in the annotation
# `nuop.kemper.buzz/content-hash` (`sha256:<hex>`), so that whatever reads the ConfigMap (a rollout
# tool, a pod template's annotation, a person) can tell from one short value whether its content changed.
#
# It shows batched runs. With `batch` set, the engine gives it up to 50 ConfigMaps at once in one run of
# `reconcile-batch` (one nu start-up for all of them) and it answers with one entry per ConfigMap:
# `changed` with the ConfigMap to write back, `unchanged`, or `error` with a message. The engine then
# treats each ConfigMap as if it had had a run of its own. The logic for one ConfigMap is one function,
# `check`; `reconcile` answers for a single ConfigMap with it too, for trying it by hand and for running the
# script with `batch: 0`.
#
# The annotation `nuop.kemper.buzz/hash-algorithm` picks `sha256` (the default) or `md5`. Any other value
# is an error for that ConfigMap alone: it gets a Warning event and is retried with backoff, while the
# others of its batch are written.
#
# Try it by hand (nothing is written: the engine does the write-back):
#   nu mod.nu config
#   kubectl get cm NAME -n NS -o yaml | nu --stdin mod.nu reconcile; echo $?
#   manager script test . --object list.yaml       # a YAML list of ConfigMaps, through reconcile-batch

const SELECT_LABEL = "nuop.kemper.buzz/hash"
const HASH_ANNOTATION = "nuop.kemper.buzz/content-hash"
const ALGORITHM_ANNOTATION = "nuop.kemper.buzz/hash-algorithm"

def main [] { help main }

# The controller's configuration, as YAML.
def "main config" [] {
    {
        name: "config-hash"
        group: ""
        version: "v1"
        kind: "ConfigMap"
        labelSelectors: { $SELECT_LABEL: "yes" }
        batch: 50
        requeue_after_change: 10
        requeue_after_noop: 300
    } | to yaml
}

# Answer for a list of ConfigMaps (YAML on stdin): a YAML list with one entry per ConfigMap, exit 0.
def "main reconcile-batch" [] {
    # print, not a bare expression: a value is not printed once `exit` follows.
    print ($in | from yaml | each {|obj| check $obj } | to yaml)
    exit 0
}

# Answer for one ConfigMap: print it with the annotation set and exit 2, exit 0 when it is right, or
# exit 1 with the message on stderr.
def "main reconcile" [] {
    let entry = check ($in | from yaml)
    match $entry.result {
        "unchanged" => { exit 0 }
        "changed" => {
            print ($entry.object | to yaml)
            exit 2
        }
        _ => {
            print -e $entry.message
            exit 1
        }
    }
}

# One ConfigMap's entry of the answer: {namespace, name, result} plus `object` (changed) or `message` (error).
def check [obj: record] {
    let id = { namespace: $obj.metadata.namespace, name: $obj.metadata.name }
    let annotations = $obj.metadata.annotations? | default {}
    let algorithm = $annotations | get -o $ALGORITHM_ANNOTATION | default "sha256"
    if $algorithm not-in ["sha256", "md5"] {
        return ($id | insert result "error" | insert message $"($ALGORITHM_ANNOTATION): '($algorithm)' is not sha256 or md5")
    }
    # Keys sorted, so the digest depends on the content only.
    let content = { data: ($obj.data? | default {} | sort), binaryData: ($obj.binaryData? | default {} | sort) } | to json --raw
    let digest = if $algorithm == "md5" { $content | hash md5 } else { $content | hash sha256 }
    let want = $"($algorithm):($digest)"
    if ($annotations | get -o $HASH_ANNOTATION) == $want {
        $id | insert result "unchanged"
    } else {
        let fixed = $obj | upsert metadata.annotations ($annotations | upsert $HASH_ANNOTATION $want)
        $id | insert result "changed" | insert object $fixed
    }
}
