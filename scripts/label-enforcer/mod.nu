# label-enforcer: makes sure a ConfigMap carries the labels its `nuop.kemper.buzz/required-labels`
# annotation asks for (`key=value,key2=value2`). It shows stdout write-back: instead of calling kubectl,
# it prints the whole object with the labels set and exits 2, and the engine writes the object back
# (an update carrying the resourceVersion it read, so a concurrent change is never overwritten).
#
# Try it by hand (nothing is written: the engine does the write-back):
#   nu mod.nu config
#   kubectl get cm NAME -n NS -o yaml | nu --stdin mod.nu reconcile; echo $?
#
# Exit codes: 0 the labels are already right (stdout empty), 2 the fixed object is on stdout, 1 the
# annotation is malformed (the message is on stderr).

const SELECT_LABEL = "nuop.kemper.buzz/enforce-labels"
const REQUIRED_ANNOTATION = "nuop.kemper.buzz/required-labels"

def main [] { help main }

# The controller's configuration, as YAML.
def "main config" [] {
    {
        name: "label-enforcer"
        group: ""
        version: "v1"
        kind: "ConfigMap"
        labelSelectors: { $SELECT_LABEL: "yes" }
        requeue_after_change: 10
        requeue_after_noop: 300
    } | to yaml
}

# Print the object (YAML on stdin) with its required labels set and exit 2, or exit 0 when they are set.
def "main reconcile" [] {
    let obj = $in | from yaml
    let annotations = $obj.metadata.annotations? | default {}
    let required = required-labels ($annotations | get -o $REQUIRED_ANNOTATION | default "")
    let labels = $obj.metadata.labels? | default {}
    let wrong = $required | transpose key value | where {|l| ($labels | get -o $l.key) != $l.value }
    if ($wrong | is-empty) {
        exit 0
    }
    for l in $wrong {
        print -e $"setting label ($l.key)=($l.value)"
    }
    # print, not a bare expression: a value is not printed once `exit` follows.
    print ($obj | upsert metadata.labels ($labels | merge $required) | to yaml)
    exit 2
}

# Parses `key=value,key2=value2` (entries trimmed, empty entries ignored, a later key wins) into a record,
# stopping with exit 1 on an entry that is not a valid label.
def required-labels [spec: string] {
    $spec | split row "," | each {|e| $e | str trim } | where {|e| $e != "" }
        | reduce --fold {} {|entry, acc|
            if not ($entry | str contains "=") {
                fail $"($REQUIRED_ANNOTATION): entry '($entry)' is not key=value"
            }
            let kv = $entry | split row --number 2 "="
            let key = $kv.0 | str trim
            let value = $kv.1 | str trim
            if not (valid-key $key) {
                fail $"($REQUIRED_ANNOTATION): '($key)' is not a valid label key"
            }
            if not (valid-value $value) {
                fail $"($REQUIRED_ANNOTATION): '($value)' is not a valid label value \(key ($key)\)"
            }
            $acc | upsert $key $value
        }
}

def fail [message: string] {
    print -e $message
    exit 1
}

# A label name: at most 63 characters, alphanumeric at both ends, `-`, `_` and `.` inside.
const NAME_RE = '^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'
# A DNS subdomain (a key's optional prefix): lower-case labels joined by dots, at most 253 characters.
const PREFIX_RE = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'

def valid-key [key: string] {
    let parts = $key | split row "/"
    match ($parts | length) {
        1 => ($key =~ $NAME_RE)
        2 => (($parts.0 | str length) <= 253 and $parts.0 =~ $PREFIX_RE and $parts.1 =~ $NAME_RE)
        _ => false
    }
}

# A label value: empty, or a label name.
def valid-value [value: string] {
    $value == "" or $value =~ $NAME_RE
}
