"""The five-element formulation (sets, parameters, variables, objective, constraints): schema, expression language, validation, classification and rendering."""
