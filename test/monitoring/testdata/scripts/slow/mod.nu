# slow: every reconcile of a ConfigMap labelled monitoring.nuop.kemper.buzz/run=slow outlasts its 1-second
# time-out and is killed (nuop_script_runs_total{result="timeout"}, alert NuopScriptTimeouts).

def main [] { help main }

def "main config" [] {
    {
        name: "slow"
        group: ""
        version: "v1"
        kind: "ConfigMap"
        labelSelectors: { "monitoring.nuop.kemper.buzz/run": "slow" }
        timeout: 1
    } | to yaml
}

def "main reconcile" [] {
    sleep 30sec
}
