; Calls.  call.function is the callee expression: an identifier for a direct
; call, anything else (a field, a dereferenced pointer) for an indirect one.
(call_expression
  function: (_) @call.function) @call.expression
