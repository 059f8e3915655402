# Finalizer fixture for objects shared with another instance.
def main [] { help main }

def "main config" [] {
  { name: "shared", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/shared": "yes" }, finalizer: "engine-test.kemper.buzz/shared", requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] { exit 0 }

def "main finalize" [] { exit 0 }
