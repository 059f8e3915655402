# Nushell facts SCRIPT-PROTOCOL section 3 tells script authors; the conformance tests pin them on the shipped nu.
def main [] {}

def "main print" [] {
    print "to stdout"
    print --stderr "to stderr"
}

def "main value" [] { "the object" }

def "main value-then-exit" [] {
    "the object"
    exit 2
}

def "main external-fails" [] {
    ^sh -c "exit 3"
    print "not reached"
}

def "main external-complete" [] { ^sh -c "exit 3" | complete | get exit_code }

def "main describe-stdin" [] { $in | describe }

def "main from-yaml" [] { $in | from yaml | get replicate | describe }

def "main to-yaml" [] { {replicate: "yes", off: "no"} | to yaml }

def "main get-optional" [] { {a: 1} | get --optional b | describe }
