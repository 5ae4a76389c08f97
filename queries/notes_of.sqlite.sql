SELECT note.id AS note, note.author, note.visibility, note.label, note.text, note.created_at 
FROM note 
WHERE note.neuron_id = (SELECT neuron.id 
FROM neuron 
WHERE neuron.model_id = ? AND neuron.site = ? AND neuron.layer = ? AND neuron.unit = ?) ORDER BY note.created_at, note.id
 LIMIT ? OFFSET ?
-- parameters: {'model_id_1': 3, 'site_1': 'mlp', 'layer_1': 0, 'unit_1': 0, 'param_1': 101, 'param_2': 0}
