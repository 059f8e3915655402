# Finalizer fixture: finalize fails while the object carries fail-finalize=yes.
def main [] { help main }

def "main config" [] {
  { name: "fin", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/fin": "yes" }, finalizer: "engine-test.kemper.buzz/fin", requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] { exit 0 }

def "main finalize" [] {
  let obj = $in | from yaml
  let labels = $obj.metadata | get --optional labels | default {}
  if ($labels | get --optional fail-finalize) == "yes" { print -e "refusing to finalize"; exit 1 }
  exit 0
}
