"""Every write of mass testing, one module per topic: `planning` (rounds, points, tables, the
schedule), `sampling` (the sampling tables' sync: tubes, samples, bags), `lab` (lab results,
retests, alerts), `coverage` (exemptions)."""
