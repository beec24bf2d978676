; Function definitions with a body.  Capture names are the contract with
; patchlint/cparse/parse.py: function.definition (the whole definition) and
; function.body (its compound statement).  The name and the parameter list
; are read from the definition's declarator, under any pointer declarators.
(function_definition
  body: (compound_statement) @function.body) @function.definition
