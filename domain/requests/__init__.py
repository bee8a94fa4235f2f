"""Service requests (群众点单 · 楼栋党小组派单 · 党员接单): submission, the state machine, dispatch,
escalation, outbound messages and the sweep that makes sure nothing is lost."""
