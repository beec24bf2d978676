; Designated initializers of structs at file scope:
;   static const struct address_space_operations swap_aops = { .set_page_dirty = f, };
;   struct address_space swapper_space = { .a_ops = &swap_aops, };
; init.type is the struct's name, init.name the variable, init.field and
; init.value one designated member.  patchlint/cparse/parse.py reads these
; to resolve calls through operations tables.
(translation_unit
  (declaration
    type: (struct_specifier name: (type_identifier) @init.type)
    declarator: (init_declarator
      declarator: (identifier) @init.name
      value: (initializer_list
        (initializer_pair
          designator: (field_designator (field_identifier) @init.field)
          value: (_) @init.value)))))
