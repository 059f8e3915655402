# No `def main`: nu dispatches none of these and exits 0.
def "main config" [] { {name: nomain, version: v1, kind: ConfigMap} | to yaml }

def "main reconcile" [] { exit 2 }
