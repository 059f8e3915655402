# Runs for two seconds: touches the file named by the annotation engine-test/started when it starts and
# the one named by engine-test/done when it is about to exit 0.
def main [] { help main }

def "main config" [] {
  { name: "inflight", version: "v1", kind: "ConfigMap", labelSelectors: { "engine-test/inflight": "yes" }, requeue_after_noop: 3600 } | to yaml
}

def "main reconcile" [] {
  let obj = $in | from yaml
  let ann = $obj.metadata | get --optional annotations | default {}
  touch ($ann | get "engine-test/started")
  sleep 2sec
  touch ($ann | get "engine-test/done")
  exit 0
}
