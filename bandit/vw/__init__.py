"""Vowpal Wabbit: the learning policy tactful ships, and the formats it reads and writes.

- :mod:`bandit.vw.text`: VW's text example format (shared line, action lines, label);
- :mod:`bandit.vw.workspace`: the native calls into VW, the only module importing it;
- :mod:`bandit.vw.policy`: :class:`~bandit.vw.policy.VWPolicy`, deciding and learning;
- :mod:`bandit.vw.dsjson_writer` and :mod:`bandit.vw.dsjson_reader`: decisions as Decision
  Service JSON, for VW's own tools, and back.

Import each name from its module; :class:`VWPolicy` is also exported by :mod:`bandit`.
"""
