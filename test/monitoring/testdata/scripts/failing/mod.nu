# failing: every reconcile of a ConfigMap labelled monitoring.nuop.kemper.buzz/run=failing exits 1, an error
# run (nuop_script_runs_total{result="error"}, alert NuopScriptErrors).

def main [] { help main }

def "main config" [] {
    {
        name: "failing"
        group: ""
        version: "v1"
        kind: "ConfigMap"
        labelSelectors: { "monitoring.nuop.kemper.buzz/run": "failing" }
    } | to yaml
}

def "main reconcile" [] {
    print -e "failing on purpose"
    exit 1
}
