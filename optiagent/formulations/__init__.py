"""The five-element formulation: schema, expression language, validation, classification.

Sets, parameters, variables, objective and constraints; rendering to math and to scripts.
"""
