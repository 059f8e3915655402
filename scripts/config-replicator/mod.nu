# config-replicator: copies a ConfigMap into the namespaces named by its `nuop.kemper.buzz/replicate-to`
# annotation, keeps the copies equal to the source, and deletes the copies it made in namespaces that are
# no longer named. It only ever touches ConfigMaps that carry its own mark (label and annotation
# `nuop.kemper.buzz/replica-of` naming this source); a same-named ConfigMap made by anyone else is left
# alone and reported.
#
# Try it by hand:
#   nu mod.nu config
#   kubectl get cm NAME -n NS -o yaml | nu --stdin mod.nu reconcile; echo $?
#
# Exit codes: 0 nothing changed, 2 something changed, 1 an error (a kubectl call failed). Messages go to
# stderr, so stdout stays empty and is never mistaken for an object to write back.

const SELECT_LABEL = "nuop.kemper.buzz/replicate"
const TARGETS_ANNOTATION = "nuop.kemper.buzz/replicate-to"
const REPLICA_OF = "nuop.kemper.buzz/replica-of"
const MANAGED_BY = "app.kubernetes.io/managed-by"
const MANAGED_BY_VALUE = "nuop"
const FINALIZER = "nuop.kemper.buzz/config-replicator"
# The longest label value Kubernetes accepts.
const MAX_LABEL_VALUE = 63

def main [] { help main }

# The controller's configuration, as YAML.
def "main config" [] {
    {
        name: "config-replicator"
        group: ""
        version: "v1"
        kind: "ConfigMap"
        labelSelectors: { $SELECT_LABEL: "yes" }
        finalizer: $FINALIZER
        onUnmatch: "release"
        requeue_after_change: 10
        requeue_after_noop: 300
    } | to yaml
}

# Bring the copies of the source ConfigMap (YAML on stdin) in line with its annotation.
def "main reconcile" [] {
    let source = $in | from yaml
    let ns = $source.metadata.namespace
    let name = $source.metadata.name
    let ref = $"($ns).($name)"

    let targets = target-namespaces $source
    let usable = usable-namespaces
    # Every copy has the source's name, so one list finds all candidates in every namespace.
    let same_named = same-named-configmaps $name | where {|cm| $cm.metadata.namespace != $ns }
    let ours = $same_named | where {|cm| is-ours $cm $ref }
    let foreign = $same_named | where {|cm| not (is-ours $cm $ref) }

    mut changed = false
    for target in $targets {
        if $target not-in $usable {
            print -e $"skipping namespace ($target): it does not exist or is being deleted"
            continue
        }
        if ($foreign | any {|cm| $cm.metadata.namespace == $target }) {
            print -e ($"skipping namespace ($target): ConfigMap ($target)/($name) exists and was not made by "
                + $"this replicator for ($ref); it is left untouched")
            continue
        }
        let want = desired-copy $source $ref $target
        let have = $ours | where {|cm| $cm.metadata.namespace == $target }
        if ($have | is-empty) {
            # create fails if someone made the ConfigMap meanwhile: it never overwrites a foreign one.
            kube [create -f - -o name] ($want | to json) | ignore
            print -e $"created ($target)/($name)"
            $changed = true
        } else if (differs ($have | first) $want) {
            kube [replace -f - -o name] (updated-copy ($have | first) $want | to json) | ignore
            print -e $"updated ($target)/($name)"
            $changed = true
        }
    }
    for cm in ($ours | where {|cm| $cm.metadata.namespace not-in $targets }) {
        delete-copy $cm
        print -e $"deleted ($cm.metadata.namespace)/($name): namespace no longer targeted"
        $changed = true
    }
    if $changed { exit 2 }
    exit 0
}

# The source is being deleted: delete the copies it made, and nothing else.
def "main finalize" [] {
    let source = $in | from yaml
    let ns = $source.metadata.namespace
    let name = $source.metadata.name
    let ref = $"($ns).($name)"
    let ours = same-named-configmaps $name | where {|cm| $cm.metadata.namespace != $ns and (is-ours $cm $ref) }
    for cm in $ours {
        delete-copy $cm
        print -e $"deleted ($cm.metadata.namespace)/($name)"
    }
    exit 0
}

# Runs kubectl with args (and input on its stdin when given) and returns its stdout. When kubectl fails,
# the script stops with exit 1: kubectl's own exit code must never reach the engine, where 2 means
# "changed".
def kube [args: list<string>, input?: string] {
    let r = if $input == null {
        ^kubectl ...$args | complete
    } else {
        $input | ^kubectl ...$args | complete
    }
    if $r.exit_code != 0 {
        print -e $"kubectl ($args | str join ' ') failed \(exit ($r.exit_code)\): ($r.stderr | str trim)"
        exit 1
    }
    $r.stdout
}

# The namespaces named by the annotation: trimmed, empty entries dropped, duplicates and the source's own
# namespace removed.
def target-namespaces [source: record] {
    let annotations = $source.metadata.annotations? | default {}
    let listed = $annotations | get -o $TARGETS_ANNOTATION | default ""
        | split row "," | each {|t| $t | str trim } | where {|t| $t != "" } | uniq
    if $source.metadata.namespace in $listed {
        print -e $"ignoring ($source.metadata.namespace) in ($TARGETS_ANNOTATION): it is the source's own namespace"
    }
    $listed | where {|t| $t != $source.metadata.namespace }
}

# Namespaces a copy can be written to: those that exist and are not being deleted.
def usable-namespaces [] {
    kube [get namespaces -o json] | from json | get items
        | where {|n| ($n.status?.phase? | default "Active") == "Active" and $n.metadata.deletionTimestamp? == null }
        | each {|n| $n.metadata.name }
}

def same-named-configmaps [name: string] {
    kube [get configmaps --all-namespaces --field-selector $"metadata.name=($name)" -o json] | from json | get items
}

# The replica-of label value for a source reference `<namespace>.<name>`: the reference itself when it
# fits in a label value, else a digest of it (the full reference is always in the annotation).
def label-value [ref: string] {
    if ($ref | str length) <= $MAX_LABEL_VALUE {
        $ref
    } else {
        $"sha256-($ref | hash sha256 | str substring 0..<56)"
    }
}

# A ConfigMap is a copy of this source only when both its replica-of label and annotation name it.
def is-ours [cm: record, ref: string] {
    let labels = $cm.metadata.labels? | default {}
    let annotations = $cm.metadata.annotations? | default {}
    ($labels | get -o $REPLICA_OF) == (label-value $ref) and ($annotations | get -o $REPLICA_OF) == $ref
}

def desired-copy [source: record, ref: string, namespace: string] {
    {
        apiVersion: "v1"
        kind: "ConfigMap"
        metadata: {
            name: $source.metadata.name
            namespace: $namespace
            labels: { $MANAGED_BY: $MANAGED_BY_VALUE, $REPLICA_OF: (label-value $ref) }
            annotations: { $REPLICA_OF: $ref }
        }
        data: ($source.data? | default {})
        binaryData: ($source.binaryData? | default {})
    }
}

# Whether an existing copy's content or marks differ from the wanted ones. Labels and annotations others
# added to the copy are not a difference.
def differs [have: record, want: record] {
    let labels = $have.metadata.labels? | default {}
    let annotations = $have.metadata.annotations? | default {}
    (
        ($have.data? | default {}) != $want.data
        or ($have.binaryData? | default {}) != $want.binaryData
        or ($want.metadata.labels | transpose key value | any {|l| ($labels | get -o $l.key) != $l.value })
        or ($want.metadata.annotations | transpose key value | any {|a| ($annotations | get -o $a.key) != $a.value })
    )
}

# The existing copy with the wanted content and marks. It keeps its resourceVersion, so the replace fails
# (and the run is retried) if the copy changed since it was read.
def updated-copy [have: record, want: record] {
    let labels = $have.metadata.labels? | default {} | merge $want.metadata.labels
    let annotations = $have.metadata.annotations? | default {} | merge $want.metadata.annotations
    $have
        | upsert metadata.labels $labels
        | upsert metadata.annotations $annotations
        | upsert data $want.data
        | upsert binaryData $want.binaryData
        | reject -o metadata.managedFields
}

# Deletes exactly the copy that was read (preconditions on uid and resourceVersion), so a ConfigMap that
# replaced it meanwhile is never deleted. A copy that is already gone is fine.
def delete-copy [cm: record] {
    let ns = $cm.metadata.namespace
    let name = $cm.metadata.name
    let options = {
        kind: "DeleteOptions"
        apiVersion: "v1"
        preconditions: { uid: $cm.metadata.uid, resourceVersion: $cm.metadata.resourceVersion }
    }
    let r = $options | to json | ^kubectl delete --raw $"/api/v1/namespaces/($ns)/configmaps/($name)" -f - | complete
    if $r.exit_code != 0 {
        let left = kube [get configmap $name -n $ns --ignore-not-found -o name]
        if ($left | str trim) != "" {
            print -e $"deleting ($ns)/($name) failed \(exit ($r.exit_code)\): ($r.stderr | str trim)"
            exit 1
        }
    }
}
