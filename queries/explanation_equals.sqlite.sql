SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, (SELECT ex.formula 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id
 LIMIT ? OFFSET ?) AS explanation 
FROM neuron JOIN model ON model.id = neuron.model_id 
WHERE neuron.model_id = ? AND neuron.site = ? AND (SELECT ex.formula 
FROM explanation AS ex 
WHERE ex.neuron_id = neuron.id ORDER BY ex.iou DESC, ex.length, ex.id
 LIMIT ? OFFSET ?) = ? ORDER BY model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'param_1': 1, 'param_2': 0, 'model_id_1': 3, 'site_1': 'mlp', 'param_3': 1, 'param_4': 0, 'param_5': 'proper_noun or noun and not plural', 'param_6': 101, 'param_7': 0}
