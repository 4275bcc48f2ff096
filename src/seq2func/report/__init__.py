"""REPORT: MultiQC custom content written by every stage (:mod:`.sections`, :mod:`.mqc`) and the
one self-contained HTML report built from it (:mod:`.build`)."""
