# batch but no `main reconcile-batch`: loading must refuse it.

def main [] {}

def "main config" [] { {name: nobatch, version: v1, kind: ConfigMap, batch: 10} | to yaml }

def "main reconcile" [] { exit 0 }
