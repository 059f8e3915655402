# Finalizer fixture on a cluster-scoped kind (Gadget, testdata/crds-cluster): nuop built a `namespaces//`
# URL for these.
def main [] { help main }

def "main config" [] {
  { name: "gadget", group: "engine-test.kemper.buzz", version: "v1", kind: "Gadget", finalizer: "engine-test.kemper.buzz/gadget", requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] { exit 0 }

def "main finalize" [] {
  let obj = $in | from yaml
  if ($obj.metadata | get --optional namespace | default "") != "" { print -e "a Gadget has no namespace"; exit 1 }
  exit 0
}
