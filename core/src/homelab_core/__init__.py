"""The rules that more than one homelab charm, or the homelab tool, needs: each exists once here.

No `ops` import anywhere in this package: it takes and returns plain data, so the charms, the
`homelab` tool and their tests all call the same code.
"""
