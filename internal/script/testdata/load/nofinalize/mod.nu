# A finalizer but no `main finalize`: every deletion would hang, so loading must refuse it.

def main [] {}

def "main config" [] { {name: nofinalize, version: v1, kind: ConfigMap, finalizer: "example.com/x"} | to yaml }

def "main reconcile" [] { exit 0 }
