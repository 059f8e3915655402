# marker: the script the RBAC proof's NuOperator fetches from git. It marks the ConfigMaps labelled
# rbac.kemper.buzz/mark: "yes" (data.marked, by stdout write-back) and holds a finalizer on them, so that
# its managed operator adds, runs and releases finalizers and records events under the RBAC it is granted.

def main [] { help main }

def "main config" [] {
    {
        name: "marker"
        version: "v1"
        kind: "ConfigMap"
        labelSelectors: { "rbac.kemper.buzz/mark": "yes" }
        finalizer: "rbac.kemper.buzz/marker"
        requeue_after_change: 3600
        requeue_after_noop: 3600
    } | to yaml
}

def "main reconcile" [] {
    let obj = $in | from yaml
    if ($obj | get --optional data.marked) == "yes" { exit 0 }
    print ($obj | upsert data.marked "yes" | to yaml)
    exit 2
}

def "main finalize" [] {
    exit 0
}
