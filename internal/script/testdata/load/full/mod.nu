# Every config key, with the commands finalizer and batch require; label values nu writes unquoted.

def main [] {}

def "main config" [] {
    {
        name: full
        group: apps
        version: v1
        kind: Deployment
        labelSelectors: {"app.kubernetes.io/replicate": "yes", enabled: true, tier: 123, empty: ""}
        labelSelector: "env in (a,b),!legacy"
        fieldSelectors: {"metadata.namespace": default}
        namespace: default
        finalizer: "example.com/cleanup"
        onUnmatch: finalize
        requeue_after_change: 5
        requeue_after_noop: 600
        timeout: 20
        concurrency: 4
        batch: 50
        batchWindow: 250
    } | to yaml
}

def "main reconcile" [] { exit 0 }

def "main finalize" [] { exit 0 }

def "main reconcile-batch" [] { [] | to yaml }
