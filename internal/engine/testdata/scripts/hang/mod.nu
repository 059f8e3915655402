# Hangs longer than its time-out.
def main [] { help main }

def "main config" [] {
  { name: "hang", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/hang": "yes" }, timeout: 1 } | to yaml
}

def "main reconcile" [] { ^sleep 30; exit 0 }
