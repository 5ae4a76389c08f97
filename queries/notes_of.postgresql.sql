SELECT note.id AS note, note.author, note.visibility, note.label, note.text, note.created_at 
FROM note 
WHERE note.neuron_id = (SELECT neuron.id 
FROM neuron 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND neuron.layer = %(layer_1)s::INTEGER AND neuron.unit = %(unit_1)s::INTEGER) ORDER BY note.created_at, note.id 
 LIMIT %(param_1)s::INTEGER
-- parameters: {'model_id_1': 3, 'site_1': 'mlp', 'layer_1': 0, 'unit_1': 0, 'param_1': 101}
