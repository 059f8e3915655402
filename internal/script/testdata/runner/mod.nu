# Commands for the Runner tests: each shows one way a run can end or one thing a run passes.
def main [] {}

def "main exit" [code: int] { exit $code }

# nu is killed by a signal, not exited.
def "main kill" [] { ^kill -9 $nu.pid }

# A grandchild in nu's process group that ignores SIGTERM, so only the SIGKILL of the group ends it; its pid on
# stdout lets the test check that the kill reached it.
def "main hang" [] { ^sh -c 'trap "" TERM; echo $$; exec sleep 300' }

def "main nap" [ms: int] { sleep ($ms * 1ms) }

def "main ignore-stdin" [] { exit 0 }

def "main stdin-length" [] { $in | str length | print }

def "main flood" [n: int] {
    let s = ("" | fill --character x --width $n)
    print --no-newline $s
    print --stderr --no-newline $s
}

def "main bytes" [] { print --raw 0x[ff fe 00 80] }

def "main env" [] {
    "written" | save --force ($env.HOME | path join probe.txt)
    {
        script: $env.NUOP_SCRIPT
        operation: $env.NUOP_OPERATION
        home: $env.HOME
        pwd: $env.PWD
    } | to json
}
