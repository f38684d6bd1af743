"""The scenario file's schema: one frozen pydantic model per section, the text forms of durations,
sizes and times, and the loader that turns a file into a :class:`Scenario` or says, per problem,
the file, the field path and what is valid."""
