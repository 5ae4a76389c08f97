SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, (SELECT ex.formula 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id
 LIMIT ? OFFSET ?) AS explanation 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id = ? AND neuron.site = ? AND (? || replace(replace((SELECT ex.formula 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id
 LIMIT ? OFFSET ?), ?, ?), ?, ?) || ?) LIKE ? ESCAPE '\' ORDER BY model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'param_1': 1, 'param_2': 0, 'model_id_1': 3, 'site_1': 'mlp', 'param_3': ' ', 'param_4': 1, 'param_5': 0, 'replace_1': '(', 'replace_2': ' ', 'replace_3': ')', 'replace_4': ' ', 'param_6': ' ', 'param_7': '% negation %', 'param_8': 101, 'param_9': 0}
