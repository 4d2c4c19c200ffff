"""What an operation may say about its answer besides its output members, in the operation's own terms.

Services never see HTTP. Where AWS answers one operation with different statuses, the difference is a fact
about the work, which the service states with one of these keys in its output and each codec renders in
its protocol.
"""

# The work the operation asked for has started and goes on: S3's RestoreObject answers 202 Accepted then,
# and 200 OK when the object was already restored.
STARTED = "@started"

# Items of several list members that the answer gives as one sequence, as ``(member, item)`` pairs in their
# one order, the members' own lists given as well: S3's ListObjectVersions interleaves its Versions and
# DeleteMarkers in key order. A codec whose format can interleave them (REST-XML's flattened lists) writes
# the sequence; the others write each member's list.
SEQUENCE = "@sequence"
