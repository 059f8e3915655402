# fetched-greeter: the script `make demo` commits to the git repository it serves on loopback, for the
# NuOperator git-demo (hack/demo/git-nuoperator.yaml), whose managed operator fetches and runs it. It
# writes data.greeting on the ConfigMaps labelled nuop.kemper.buzz/git-demo: "yes" (stdout write-back),
# none of which the standard-mode examples select, and holds no finalizer.
#
# Try it by hand (nothing is written: the engine does the write-back):
#   nu mod.nu config
#   kubectl get cm NAME -n NS -o yaml | nu --stdin mod.nu reconcile; echo $?

const GREETING = "hello from a script fetched from git"

def main [] { help main }

# The controller's configuration, as YAML.
def "main config" [] {
    {
        name: "fetched-greeter"
        group: ""
        version: "v1"
        kind: "ConfigMap"
        labelSelectors: { "nuop.kemper.buzz/git-demo": "yes" }
        requeue_after_change: 10
        # Short, so that a new commit of this script reaches the ConfigMap soon after it is fetched.
        requeue_after_noop: 30
    } | to yaml
}

# Print the object (YAML on stdin) with data.greeting set and exit 2, or exit 0 when it is set.
def "main reconcile" [] {
    let obj = $in | from yaml
    if ($obj.data?.greeting? == $GREETING) {
        exit 0
    }
    print ($obj | upsert data.greeting $GREETING | to yaml)
    exit 2
}
