def main [] {}

# nuop's documentation spelled the keys this way; nuop ignored them.
def "main config" [] { {name: invalid, apiVersion: v1, kind: ConfigMap, requeue_after_noop: 0} | to yaml }
